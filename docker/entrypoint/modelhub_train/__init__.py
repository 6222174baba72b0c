"""ModelHub's training-container entry point (LLaMA-Factory and EasyR1 images).

Pure modules (hosts, commands, checkpoints, datasets, plan) are unit-tested in tests/docker/;
s3sync is tested against moto; run.py wires them to processes and S3.
"""
