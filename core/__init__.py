"""PoseWatch core: all logic (video, pose, tracking, caches, overlay, classifiers). Never imports Qt."""

__version__ = "0.1.0"
