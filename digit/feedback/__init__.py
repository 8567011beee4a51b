"""The feedback dataset: samples people flagged, stored as Parquet shards and shared on the Hub."""

from digit.feedback.samples import (DailyLimit, DiskFull, DuplicateSample, FeedbackError, Sample, VoteRefused,
                                    sample_of)
from digit.feedback.store import FeedbackStore
from digit.feedback.votes import Standing, Tally

__all__ = ["DailyLimit", "DiskFull", "DuplicateSample", "FeedbackError", "FeedbackStore", "Sample", "Standing", "Tally",
           "VoteRefused", "sample_of"]
