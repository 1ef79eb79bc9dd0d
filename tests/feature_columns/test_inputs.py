"""The pandas/NumPy boundary: strings of any pandas dtype, multivalent rows, ranges, all checked up front."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from feature_columns.integration import RawFeature, to_feature_arrays

TAGS = RawFeature("tags", "string", (None,))
IDS = RawFeature("ids", "int64", (None,))


@pytest.mark.parametrize("dtype", ["string", "str", object])
def test_pandas_text_columns_of_every_dtype_become_strings(dtype):
    frame = pd.DataFrame({"city": pd.Series(["nyc", "sf"], dtype=dtype)})
    arrays = to_feature_arrays(frame, {"city": RawFeature("city", "string")})
    assert arrays["city"].tolist() == ["nyc", "sf"] and arrays["city"].dtype.kind == "U"


@pytest.mark.parametrize(
    "rows",
    [
        [["a", "b"], [], ["c"]],
        pd.Series([["a", "b"], [], ["c"]]),
        pd.Series([np.array(["a", "b"]), np.array([], dtype=str), np.array(["c"])]),
        tf.ragged.constant([["a", "b"], [], ["c"]]),
    ],
    ids=["lists", "series of lists", "series of arrays", "ragged tensor"],
)
def test_multivalent_rows_are_padded_with_empty_strings(rows):
    np.testing.assert_array_equal(
        to_feature_arrays({"tags": rows}, {"tags": TAGS})["tags"], [["a", "b"], ["", ""], ["c", ""]]
    )


def test_multivalent_ids_are_padded_with_minus_one_and_a_2d_array_passes_through():
    assert to_feature_arrays({"ids": [[4], [1, 2], []]}, {"ids": IDS})["ids"].tolist() == [[4, -1], [1, 2], [-1, -1]]
    assert to_feature_arrays({"ids": np.array([[3, -1]])}, {"ids": IDS})["ids"].tolist() == [[3, -1]]


def test_a_missing_value_inside_a_multivalent_row_is_named():
    with pytest.raises(ValueError, match=r"feature 'tags' has a missing value \(row 1\)"):
        to_feature_arrays({"tags": [["a"], ["b", None]]}, {"tags": TAGS})


def test_identity_range_allows_padding_in_multivalent_rows_only():
    spec = RawFeature("ids", "int64", (None,), num_buckets=3)
    assert to_feature_arrays({"ids": [[2], [0, 1]]}, {"ids": spec})["ids"].tolist() == [[2, -1], [0, 1]]
    with pytest.raises(ValueError, match=r"must hold ids in \[0, 3\).*row 0 holds 3"):
        to_feature_arrays({"ids": [[3]]}, {"ids": spec})
    with pytest.raises(ValueError, match=r"row 1 holds -1"):
        to_feature_arrays({"day": [0, -1]}, {"day": RawFeature("day", "int64", num_buckets=3)})
