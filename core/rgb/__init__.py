"""RGB clip models: data, training and inference of the video classifiers (:data:`models.VIDEO_MODELS`).

- :mod:`core.rgb.clips`: labelled clips of videos (a project's clips with their crops — the follow-track crop or
  the rectangle — an export's ``clips/``, or a folder of videos per label), decoded and resampled to the model's
  frame rate and size, cut into windows of T frames; the skeleton-stream inputs of a fusion model for the same
  windows.
- :mod:`core.rgb.train`: :class:`~core.rgb.train.VideoTrainer`, the trainer of ``r2plus1d`` and ``fusion``
  models with the conventions of :class:`core.training.Trainer` (events through callbacks, early stopping on the
  validation macro-F1, the best checkpoint always on disk, a split by video).
- :mod:`core.rgb.infer`: :class:`~core.rgb.infer.VideoClassifier`: sliding windows over a video (window and
  stride in seconds), the label of the window covering each frame, for ``predict`` and the player.
- :mod:`core.rgb.weights`: torchvision's Kinetics-400 ``r2plus1d_18`` weights through :mod:`core.modelfiles`.

No Qt here (as everywhere in ``core``).
"""
