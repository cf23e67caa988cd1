#!/usr/bin/env bash
# The forwarder against a real rsyslog over UDP, TCP and TLS (RFC 5424,
# RFC 5425): delivery in order, outages, rotation, restarts and a crash.
# The scenarios live in syslog-check.sh and drive the forwarder directly.
exec bash "$(dirname "$0")/syslog-check.sh" "${MWG_BUILD:?}"
