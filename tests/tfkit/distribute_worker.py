"""One worker of the multi-worker test (tests/tfkit/test_distribute_multiworker.py), run as its own process.

`python distribute_worker.py MODEL_DIR EXPORT_BASE RESULT_JSON [SECONDS_PER_STEP]` with `TF_CONFIG` set: trains a
small regressor with `strategy="multi_worker"` on data every worker draws alike, evaluates, exports and writes its
metrics to RESULT_JSON. SECONDS_PER_STEP slows each step so that the test can kill a worker mid-run.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pandas as pd

import tfkit
from feature_columns import EmbeddingColumn, NumericColumn, VocabularyColumn

ROWS, BATCH_SIZE, EPOCHS = 1024, 64, 4


def rides(seed: int) -> pd.DataFrame:
    """A fare from a distance and a borough name: `fare = 2.5 + 3 * distance + borough surcharge`, plus noise."""
    rng = np.random.default_rng(seed)
    boroughs = np.array(["manhattan", "brooklyn", "queens", "bronx"])
    borough = boroughs[rng.integers(0, 4, ROWS)]
    distance = rng.uniform(0, 5, ROWS).astype("float32")
    surcharge = pd.Series(borough).map({"manhattan": 4.0, "brooklyn": 2.0, "queens": 1.0, "bronx": 0.0})
    fare = 2.5 + 3 * distance + surcharge.to_numpy() + rng.normal(0, 0.5, ROWS)
    return pd.DataFrame({"distance": distance, "borough": borough, "fare": fare.astype("float32")})


class _Slow(keras.callbacks.Callback):
    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(self.seconds)


def arguments(**changes) -> dict:
    """The Estimator's arguments, with `changes`: a regressor over a number and an embedded string."""
    return {
        "feature_columns": [NumericColumn("distance"), EmbeddingColumn(VocabularyColumn("borough", max_tokens=8), 2)],
        "head": "regression",
        "label": "fare",
        "model_params": {"hidden_units": [8]},
        "learning_rate": 0.05,
        "seed": 7,
        **changes,
    }


def main(model_dir: str, export_base: str, result: str, seconds_per_step: float = 0.0) -> None:
    estimator = tfkit.Estimator(**arguments(model_dir=model_dir, strategy="multi_worker"))
    estimator.train(rides(0), epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0, callbacks=[_Slow(seconds_per_step)])
    metrics = estimator.evaluate(rides(1))
    export = estimator.export_saved_model(export_base)
    with open(result, "w") as file:
        json.dump({"metrics": metrics, "export": export, "epochs_run": len(estimator.history["loss"])}, file)


if __name__ == "__main__":
    main(*sys.argv[1:4], *[float(value) for value in sys.argv[4:]])
