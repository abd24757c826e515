#!/bin/bash
# mode http: the 5,000 concurrent connections of t_relay_many.sh.
MODE=http exec bash "$(dirname "$0")/t_relay_many.sh"
