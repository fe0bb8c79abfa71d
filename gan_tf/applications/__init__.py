"""What a trained GAN is used for: samples (sampling.py), exports (export.py), anomaly
scores (anomaly.py), synthetic training data for a classifier (synthetic.py)."""
