"""PoseWatch's resources: the default settings (``default.yaml``) and the shipped models with their cards
(``models/``). Installed from a wheel as the package ``posewatch_resources``; found with
:func:`core.defaults.resources_dir`."""
