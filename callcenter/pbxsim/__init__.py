"""The built-in PBX simulator: an Asterisk 22 twin on the AMI wire, with simulated
callers and agent phones, for the demo, the tests and the benchmarks."""

from callcenter.pbxsim.phones import PhoneBehaviour
from callcenter.pbxsim.server import PbxSimulator
from callcenter.pbxsim.traffic import CallerGenerator

__all__ = ["CallerGenerator", "PbxSimulator", "PhoneBehaviour"]
