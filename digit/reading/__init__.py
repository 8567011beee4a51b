"""One reading: a picture decoded within limits (images), the pad's drawing (pad), normalised to
28x28 (preprocess), read by the jury (classifier, prediction), in worker processes when served
(pool), with what the feedback dataset would keep of it (sample)."""
