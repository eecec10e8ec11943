"""smdeploy: the shared library of the deploy control plane, shipped as a Lambda layer."""
