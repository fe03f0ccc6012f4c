"""Pure logic of the SALUS monitor (no ROS): episodes from the Zarr store, splits, features, the failure
predictor's models and loss, conformal calibration and metrics. The nodes are thin adapters over these."""
