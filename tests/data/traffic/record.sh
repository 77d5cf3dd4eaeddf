#!/bin/bash
# Records the traffic fixtures. Run as root from tests/data/traffic.
set -euo pipefail
UE=fgbtr-ue; CORE=fgbtr-core
cleanup() {
  [ -n "${SPIDS:-}" ] && kill $SPIDS 2>/dev/null || true
  ip netns del $UE 2>/dev/null || true
  ip netns del $CORE 2>/dev/null || true
}
trap cleanup EXIT

# --- loopback ---------------------------------------------------------------------------------
iperf3 -s --json -B 127.0.0.1 -p 15201 >/dev/null 2>&1 & SPIDS="$!"
iperf3 -s -B 127.0.0.1 -p 15202 >/dev/null 2>&1 & SPIDS="$SPIDS $!"
irtt server -b 127.0.0.1:15203 >/dev/null 2>&1 & SPIDS="$SPIDS $!"
sleep 0.5
iperf3 --json -c 127.0.0.1 -p 15201 -t 1 -O 0 -P 1 -i 0.5 --get-server-output > iperf3_tcp_ul.json
iperf3 --json -c 127.0.0.1 -p 15201 -t 2 -O 1 -P 2 -i 0.5 --reverse --get-server-output > iperf3_tcp_dl_reverse.json
iperf3 --json -c 127.0.0.1 -p 15201 -t 1 -O 0 -P 1 -i 0.5 -u -b 20000000 -l 1400 --get-server-output > iperf3_udp_ul.json
iperf3 --json -c 127.0.0.1 -p 15201 -t 1 -O 0 -P 1 -i 0.5 --bidir --get-server-output > iperf3_tcp_bidir.json
iperf3 --json -c 127.0.0.1 -p 15201 -t 1 -O 0 -P 1 -i 0.5 -u -b 5000000 -l 1400 --bidir --get-server-output > iperf3_udp_bidir.json
iperf3 --json -c 127.0.0.1 -p 15202 -t 1 -O 0 -P 1 -i 0.5 --get-server-output > iperf3_tcp_ul_server_text.json
iperf3 --json -c 127.0.0.1 -p 15209 -t 1 -O 0 -P 1 -i 0.5 --get-server-output > iperf3_error_refused.json || true
irtt client -o - -Q -d 1s -i 20ms 127.0.0.1:15203 > irtt_loopback.json
kill $SPIDS; wait $SPIDS 2>/dev/null || true; SPIDS=""

# --- two namespaces joined by a veth pair, 5 % random loss on each end's ingress ----------
# (this kernel has no sch_netem: CONFIG_NET_SCH_NETEM is not set; an nftables netdev ingress
# rule drops 5 % of the frames arriving on each veth end instead, silently, like a lossy link)
ip netns add $UE; ip netns add $CORE
ip link add fgbtr-u netns $UE type veth peer name fgbtr-c netns $CORE
ip -n $UE addr add 10.231.77.1/30 dev fgbtr-u; ip -n $CORE addr add 10.231.77.2/30 dev fgbtr-c
ip -n $UE link set lo up; ip -n $CORE link set lo up
ip -n $UE link set fgbtr-u up; ip -n $CORE link set fgbtr-c up
for pair in "$UE fgbtr-u" "$CORE fgbtr-c"; do
  set -- $pair
  ip netns exec $1 nft add table netdev fgbtr
  ip netns exec $1 nft "add chain netdev fgbtr in { type filter hook ingress device $2 priority 0; }"
  ip netns exec $1 nft add rule netdev fgbtr in numgen random mod 100 "<" 5 drop
done
ip netns exec $CORE iperf3 -s --json -B 10.231.77.2 -p 15201 >/dev/null 2>&1 & SPIDS="$!"
ip netns exec $CORE irtt server -b 10.231.77.2:15203 >/dev/null 2>&1 & SPIDS="$SPIDS $!"
sleep 0.5
ip netns exec $UE iperf3 --json -c 10.231.77.2 -p 15201 -t 2 -O 0 -P 1 -i 0.5 -u -b 20000000 -l 1400 --reverse --get-server-output > iperf3_udp_dl_loss.json
ip netns exec $UE iperf3 --json -c 10.231.77.2 -p 15201 -t 2 -O 0 -P 1 -i 0.5 --get-server-output > iperf3_tcp_ul_loss.json
ip netns exec $UE irtt client -o - -Q -d 1s -i 20ms 10.231.77.2:15203 > irtt_loss.json

# --- derived, not recorded: an "older build" UDP result that has only end.sum -----------------
python3 - <<'PY'
import json
d = json.load(open("iperf3_udp_dl_loss.json"))
for end in (d["end"], d["server_output_json"]["end"]):
    del end["sum_sent"], end["sum_received"]
open("iperf3_udp_dl_loss_sum_only.json", "w").write(json.dumps(d, indent="\t") + "\n")
PY
