"""The local cloud: the SAM app's real state machines and handlers on moto, in virtual time.

Never deployed and never imported by ``functions/`` or ``layers/``.
"""

import os
from pathlib import Path

# moto reads its catalogue of EC2 images (a large JSON file, about a second) whenever moto.ec2 is
# imported, which Application Auto Scaling does through ECS. The local cloud simulates no EC2.
os.environ.setdefault("MOTO_AMIS_PATH", str(Path(__file__).parent / "engine" / "no-ec2-images.json"))
