"""Training: the loop (loop.py), its update steps (steps.py), what it writes while it runs
(outputs.py, progress.py), what ends it early (stopping.py), its random numbers, D's input
augmentations and tf.distribute."""
