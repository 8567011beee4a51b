"""The feedback dataset: samples people flagged, stored as Parquet shards and shared on the Hub."""

from digit.feedback.samples import FeedbackError, Sample
from digit.feedback.store import FeedbackStore

__all__ = ["FeedbackError", "FeedbackStore", "Sample"]
