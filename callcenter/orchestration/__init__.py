"""Call orchestration: domain events in, routing decisions out, AMI actions sent."""
