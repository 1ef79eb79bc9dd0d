"""Heads: a model's output projection, loss, metrics and prediction outputs."""

from tfkit.heads.regression import RegressionHead

__all__ = ["RegressionHead", "get"]


def get(identifier):
    """A head from an instance, a name (`"regression"`) or a `{"class_name", "config"}` dict."""
    if isinstance(identifier, RegressionHead):
        return identifier
    if identifier == "regression":
        return RegressionHead()
    if isinstance(identifier, dict) and identifier.get("class_name") in _HEADS:
        return _HEADS[identifier["class_name"]].from_config(identifier.get("config", {}))
    raise ValueError(f"tfkit.heads.get: unknown head {identifier!r}. Known: 'regression' or a head instance.")


_HEADS = {"RegressionHead": RegressionHead}
