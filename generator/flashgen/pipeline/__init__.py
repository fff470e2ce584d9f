"""The pipeline that runs the stages in order, with one content-keyed cache."""
