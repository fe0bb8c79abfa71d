"""absl flag definitions for gan_tf's command lines, and flagfiles for the seed setups."""
