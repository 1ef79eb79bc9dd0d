"""Serving errors carry the model's own message: a request that passes the server's checks but fails a column's
check inside the graph (an id out of range, weights not aligned with their ids) gets that check's first line,
through a live REST server on 127.0.0.1 and through `tfkit.export.load`'s Predictor, never "Graph execution
error:" alone. The taxi model is the session's, trained on real rides and exported here.
"""

import numpy as np
import pytest
from live_server import call, running

import feature_columns as fc
from tfkit import export, heads, models
from tfkit.serve import create_app

RIDE = {
    "passenger_count": 1,
    "pickup_longitude": -73.99,
    "pickup_latitude": 40.75,
    "dropoff_longitude": -73.97,
    "dropoff_latitude": 40.78,
    "hourofday": 8,
    "dayofweek": 2,
}
HOUR_RANGE = (
    "IdentityColumn('hourofday'): raw feature 'hourofday' must hold ids in [0, 24). Give the column a "
    "`default_value` to map other ids to one bucket, or fix the data."
)
WEIGHTS = (
    "WeightedCategoricalColumn('tags_weighted_by_w'): raw feature 'w' must hold one weight per id of 'tags', "
    "padded the same way. Align the two features."
)


@pytest.fixture(scope="module")
def taxi_base(taxi_model, tmp_path_factory):
    estimator, _ = taxi_model
    base = tmp_path_factory.mktemp("errors") / "taxifare"
    estimator.export_saved_model(str(base))
    return str(base)


@pytest.fixture(scope="module")
def port(taxi_base):
    with running(create_app(taxi_base, model_name="taxifare")) as port:
        yield port


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    """The export base of a model with weighted multivalent ids (`tags` weighted by `w`), and its Predictor."""
    tags = fc.IdentityColumn("tags", num_buckets=5, multivalent=True)
    columns = [fc.NumericColumn("x"), fc.EmbeddingColumn(fc.WeightedCategoricalColumn(tags, "w"), dimension=2)]
    base = str(tmp_path_factory.mktemp("errors") / "tagged")
    export.export_saved_model(models.dnn(columns, heads.RegressionHead(), hidden_units=[2]), base)
    return base, export.load(base)


def test_an_id_out_of_range_gets_400_with_the_columns_message(port):
    body = {"instances": [RIDE, {**RIDE, "hourofday": 30}, {**RIDE, "hourofday": -1}]}
    status, answer = call(port, "POST", "/v1/models/taxifare:predict", body)
    # The check shows the offending ids only: rows 1 and 2's.
    assert (status, answer) == (400, {"error": f"the model rejected the request: {HOUR_RANGE} Received: [30 -1]"})
    status, answer = call(port, "POST", "/v1/models/taxifare:regress", {"examples": [{**RIDE, "hourofday": 30}]})
    assert (status, answer) == (400, {"error": f"the model rejected the request: {HOUR_RANGE} Received: [30]"})
    status, answer = call(port, "POST", "/v1/models/taxifare:predict", {"instances": [RIDE]})
    assert status == 200 and len(answer["predictions"]) == 1


def test_a_tf_example_without_a_required_feature_gets_the_parsers_line_alone(port):
    example = {key: value for key, value in RIDE.items() if key != "passenger_count"}
    status, answer = call(port, "POST", "/v1/models/taxifare:regress", {"examples": [example]})
    assert (status, answer) == (
        400,
        {
            "error": "the model rejected the request: Name: <unknown>, Feature: passenger_count (data type: float) "
            "is required but could not be found."
        },
    )


def test_the_predictor_names_an_id_out_of_range(taxi_base):
    with pytest.raises(ValueError, match=r"'hourofday' must hold ids in \[0, 24\)"):
        export.load(taxi_base)({key: [value] for key, value in {**RIDE, "hourofday": 30}.items()})


def test_the_predictor_raises_the_models_check_as_a_value_error(tagged):
    _, predictor = tagged
    # Two ids but one weight: only the check inside the graph sees that the two features do not line up.
    with pytest.raises(ValueError) as caught:
        predictor({"x": [1.0], "tags": [[1, 2]], "w": [[0.5]]})
    assert str(caught.value) == f"Predictor: the model rejected the data: {WEIGHTS}"
    assert predictor({"x": [1.0], "tags": [[1, 2]], "w": [[0.5, 2.0]]})["predictions"].shape == (1,)


def test_rest_serves_weighted_multivalent_ids_and_surfaces_their_check(tagged):
    base, predictor = tagged
    with running(create_app(base, model_name="tagged")) as port:  # the warm-up sends one id per multivalent feature
        status, answer = call(
            port, "POST", "/v1/models/tagged:predict", {"instances": [{"x": 1.0, "tags": [1, 2], "w": [0.5]}]}
        )
        assert (status, answer) == (400, {"error": f"the model rejected the request: {WEIGHTS}"})
        good = {"x": [1.0, 2.0], "tags": [[1, 2], [4]], "w": [[0.5, 2.0], [1.0]]}
        status, answer = call(port, "POST", "/v1/models/tagged:predict", {"inputs": good})
        assert status == 200
        assert np.abs(np.array(answer["outputs"]) - predictor(good)["predictions"]).max() < 1e-6
