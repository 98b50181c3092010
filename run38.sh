# vat serve ll-hls (port 5610) -> proxy relay: every .m4s body read whole upstream then held 300 ms; no loss.
# truth: each frame's latency = relay send time of its part - its generation time
cd /tmp/auditA
BUN=/work/main/node_modules/.bin/bun
rm -f relay38.log r38.db
RELAY_CFG='{"upstream":"http://127.0.0.1:5610","port":8744,"delayMs":300,"delayRe":"\\.m4s$","log":"/tmp/auditA/relay38.log"}' $BUN relay.ts >/dev/null &
RL=$!
sleep 1
${VAT:-/work/main/dist/vat} client --url http://127.0.0.1:8744/video/stream.m3u8 --db r38.db --duration 15s > r38.out 2>&1; echo "exit $?" >> r38.out
kill $RL
