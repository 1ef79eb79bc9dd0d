"""How an Estimator runs Keras's `fit`: its callbacks (checkpoints, logs, early stopping, progress), and turning a
column check that fails while data streams into a clear error.

Under a multi-worker strategy every worker runs the same callbacks, but only the chief's files are kept: another
worker writes its checkpoints and logs to a temporary folder (`tfkit.distribute.writes_to`) and restores from the
chief's checkpoints, so that a restarted cluster resumes from one state.
"""

from __future__ import annotations

import contextlib
import os

import keras
import tensorflow as tf

from feature_columns.integration import is_count
from tfkit.estimator import model_dir as model_dirs
from tfkit.graph_errors import rejection_message

# Epochs without a better validation loss before training stops (and the best weights come back).
DEFAULT_EARLY_STOPPING_PATIENCE = 3


@contextlib.contextmanager
def column_checks(where: str, backup: str | None = None):
    """Re-raises a column's check failing in the input pipeline (a `tf.data` input is checked as it streams, not
    before) as a ValueError whose first line is the check's own message and fix, not TensorFlow's long
    `InvalidArgumentError`. Checkpoints already written (`backup`) are kept, and said so."""
    try:
        yield
    except tf.errors.InvalidArgumentError as error:
        if "assertion failed: " not in error.message:  # not a check's failure: TensorFlow's error is all there is
            raise
        text = f"{where}: {rejection_message(error)}"
        if backup and os.path.exists(backup):
            text += f"\nThe last checkpoint, written before the failing batch, stays in {backup!r}: fix the data and "
            text += "train again to resume from it."
        raise ValueError(text) from None


class _StepProgbarLogger(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, counting the steps that ran: Keras reports the end of each call as a whole block of
    `steps_per_execution` steps, so an epoch of 28 steps in blocks of 32 showed "32/28". Counts are capped at the
    epoch's steps where Keras knows them (tfkit's own inputs, datasets of known cardinality)."""

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch if self.target is None else min(batch, self.target - 1), logs)


class _WorkerBackup(keras.callbacks.BackupAndRestore):
    """A non-chief worker's `BackupAndRestore`: it writes to its own (temporary) `backup_dir` but restores from the
    chief's, so that every worker of a restarted cluster starts from the same weights, optimizer state and epoch."""

    def __init__(self, backup_dir: str, chief_backup_dir: str, save_freq):
        super().__init__(backup_dir, save_freq=save_freq)
        self._chief = keras.callbacks.BackupAndRestore(chief_backup_dir)

    def on_train_begin(self, logs=None):
        self._chief.set_model(self.model)
        self._chief.on_train_begin(logs)


def early_stopping_patience(where: str, patience, validation) -> int | None:
    """The epochs of patience `train` gives early stopping; None for none."""
    if patience == "auto":
        return None if validation is None else DEFAULT_EARLY_STOPPING_PATIENCE
    if patience is not None and not is_count(patience, minimum=0):
        raise ValueError(
            f"{where}: `early_stopping_patience` must be a number of epochs (>= 0), 'auto' or None. "
            f"Received: early_stopping_patience={patience!r}."
        )
    if patience is not None and validation is None:
        raise ValueError(f"{where}: `early_stopping_patience` needs `validation_data` to watch.")
    return patience


def callbacks(write_dir: str | None, model_dir: str | None, save_checkpoints_steps, patience) -> list:
    """Checkpoints and TensorBoard logs in `write_dir` (the model_dir, or a non-chief worker's temporary folder,
    which restores from `model_dir`'s checkpoints), and early stopping, as asked."""
    found = []
    if write_dir:
        backup, save_freq = os.path.join(write_dir, model_dirs.BACKUP_DIR), save_checkpoints_steps or "epoch"
        if write_dir == model_dir:
            found.append(keras.callbacks.BackupAndRestore(backup, save_freq=save_freq))
        else:
            found.append(_WorkerBackup(backup, os.path.join(model_dir, model_dirs.BACKUP_DIR), save_freq))
        found.append(keras.callbacks.TensorBoard(os.path.join(write_dir, model_dirs.LOGS_DIR), write_graph=False))
    if patience is not None:
        found.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True, verbose=1)
        )
    return found


def fit(core: keras.Model, train_ds, validation, *, epochs: int, callbacks: list, verbose) -> dict:
    """`core.fit` on preprocessed datasets, with tfkit's progress bar unless one is given; returns the history."""
    if verbose != 0 and not any(isinstance(callback, keras.callbacks.ProgbarLogger) for callback in callbacks):
        callbacks = [*callbacks, _StepProgbarLogger()]
    history = core.fit(
        train_ds,
        epochs=epochs,
        validation_data=validation,
        callbacks=callbacks,
        shuffle=False,  # the input pipeline shuffles whole batches itself
        verbose=verbose,
    )
    return history.history
