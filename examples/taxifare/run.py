"""The taxi-fare job end to end on the real NYC rides: train, evaluate on the test split, export, reload the
export, predict five test rides, print the test RMSE and the export path. `make demo` runs it.

Usage: python examples/taxifare/run.py [CONFIG]   (defaults to the config.toml beside this file)
"""

import os
import sys

import pandas as pd

from tfkit import export, pipeline
from tfkit.config import load_config

HERE = os.path.dirname(os.path.abspath(__file__))


def main(config_path: str) -> None:
    config = load_config(config_path)
    print(f"tfkit taxi-fare: training on {config.data_path('train')} (model_dir: {config.training.get('model_dir')})")
    result = pipeline.train(config)
    rmse = result["test_metrics"]["rmse"]

    predictor = export.load(result["export_path"])  # tf.saved_model.load under the hood; raw features in
    rides = pd.read_csv(config.data_path("test")).head(5)
    fares = predictor(rides.drop(columns=[config.label]))["predictions"]
    print("\nfive test rides, served by the reloaded export:")
    print(pd.DataFrame({"actual fare": rides[config.label], "predicted fare": fares.round(2)}).to_string(index=False))
    print(f"\ntest RMSE: {rmse:.3f} dollars on {config.data_path('test')} (always predicting the mean: 10.12)")
    print(f"export: {os.path.abspath(result['export_path'])}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "config.toml"))
