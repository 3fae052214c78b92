"""Writes the pinned flwr's descriptors of the Fleet API (fleet.proto and every file it
imports) as a serialized FileDescriptorSet, base64-encoded, on stdout."""

import base64
import sys

from flwr.proto import fleet_pb2
from google.protobuf import descriptor_pb2


def closure(fd, out):
    for dep in fd.dependencies:
        closure(dep, out)
    if fd.name not in out:
        out[fd.name] = fd


files = {}
closure(fleet_pb2.DESCRIPTOR, files)
fds = descriptor_pb2.FileDescriptorSet()
for fd in files.values():
    proto = fds.file.add()
    fd.CopyToProto(proto)
sys.stdout.write(base64.b64encode(fds.SerializeToString()).decode("ascii"))
