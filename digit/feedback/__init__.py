"""The feedback dataset: samples people flagged, stored as Parquet shards and shared on the Hub."""

from digit.feedback.samples import DailyLimit, DiskFull, DuplicateSample, FeedbackError, Sample
from digit.feedback.store import FeedbackStore

__all__ = ["DailyLimit", "DiskFull", "DuplicateSample", "FeedbackError", "FeedbackStore", "Sample"]
