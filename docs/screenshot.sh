#!/usr/bin/env bash
# Takes docs/dashboard.png: the AppHost's Aspire dashboard while tasks and a prompt-evolution run go through the
# fleet, with the provider emulators standing in for Ollama, Groq and Gemini (no network, no keys, no Docker).
# Needs the .NET SDK, python3 with PyYAML and Debian's chromium (apt-get install chromium).
# The orchestrator's data goes to a temporary folder (never D8.AppHost/.d8-data); the dashboard, OTLP and resource
# service run on free ports; the orchestrator uses its launch-profile port 5080, which must be free.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/dashboard.png}
work=$(mktemp -d)
pids=()
keep=${KEEP:-}   # KEEP=1: leave the work folder (logs) behind
# Each process runs in its own process group (setsid), so stopping it stops what it started (the AppHost's DCP, workers).
cleanup() { for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "$keep" ] || rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
if python3 -c 'import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(("127.0.0.1", 5080)) != 0)'; then
  echo "port 5080 is in use: stop what listens there first" >&2; exit 1
fi
ollama=$(free_port); groq=$(free_port); gemini=$(free_port); dash=$(free_port); otlp=$(free_port); resources=$(free_port)
key=$(python3 -c 'import secrets; print(secrets.token_hex(16))'); join=$(python3 -c 'import secrets; print(secrets.token_hex(16))')

dotnet build D8.AppHost -v q -nologo
dotnet build D8.Emulators.Server -v q -nologo
emulator=D8.Emulators.Server/bin/Debug/net10.0/D8.Emulators.Server.dll
D8_EMULATOR_TOKEN_DELAY_MS=60 setsid dotnet "$emulator" ollama "$ollama" > "$work/ollama.log" 2>&1 & pids+=($!)
D8_EMULATOR_TOKEN_DELAY_MS=10 setsid dotnet "$emulator" openai "$groq" groq k > "$work/groq.log" 2>&1 & pids+=($!)
D8_EMULATOR_TOKEN_DELAY_MS=15 setsid dotnet "$emulator" openai "$gemini" gemini k > "$work/gemini.log" 2>&1 & pids+=($!)

# The launch profile's settings, with free ports.
ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development ASPIRE_ALLOW_UNSECURED_TRANSPORT=true \
ASPNETCORE_URLS="http://localhost:$dash" ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL="http://localhost:$otlp" \
ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL="http://localhost:$resources" \
setsid dotnet run --project D8.AppHost --no-build --no-launch-profile -- \
  --Orchestrator:DataDirectory="$work/data" --Parameters:api-key="$key" --Parameters:join-token="$join" \
  --Ollama:Mode=external --Ollama:Url="http://localhost:$ollama" --Workers:Enabled=deepseek,groq,gemini \
  --Workers:groq:BaseUrl="http://localhost:$groq/openai/v1" --Parameters:groq-api-key=k \
  --Workers:gemini:BaseUrl="http://localhost:$gemini/v1beta/openai" --Parameters:gemini-api-key=k \
  > "$work/apphost.log" 2>&1 & pids+=($!)

api() { curl -sf "$@" -H "Authorization: Bearer $key" -H 'Content-Type: application/json'; }
echo "waiting for three workers online (AppHost log: $work/apphost.log)"
for _ in $(seq 1 180); do
  online=$(api http://localhost:5080/api/stats 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["workers"].get("online", 0))' 2>/dev/null || echo 0)
  [ "$online" -ge 3 ] && break
  sleep 2
done
[ "$online" -ge 3 ] || { echo "workers did not come online; see $work/apphost.log" >&2; tail -20 "$work/apphost.log" >&2; exit 1; }

python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open("docs/evolution-example.yaml"))))' > "$work/spec.json"
api -X POST http://localhost:5080/api/evolutions -d @"$work/spec.json" > /dev/null
for i in $(seq 1 60); do
  api -X POST http://localhost:5080/api/tasks -d "{\"prompt\":\"Write a haiku about queue $i\",\"max_tokens\":96}" > /dev/null
done
sleep 12   # let the live rows (refreshed every 3 s) show speeds and the evolution's progress

# Headless Chromium driven over the DevTools protocol: open the dashboard, wait until the resource table shows the
# evolution row and a worker's measured speed, then capture the page.
cdp=$(free_port)
setsid chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --remote-debugging-port="$cdp" \
  --window-size=1920,680 about:blank > "$work/chromium.log" 2>&1 & pids+=($!)
login=$(grep -o "http://localhost:$dash/login?t=[0-9a-f]*" "$work/apphost.log" | head -n 1)
node --experimental-websocket --input-type=module - "$cdp" "$login" "$work/dashboard.png" > "$work/cdp.log" 2>&1 <<'JS' || { cat "$work/cdp.log" >&2; exit 1; }
const [cdpPort, url, file] = process.argv.slice(2);
import fs from "node:fs";
const pause = ms => new Promise(r => setTimeout(r, ms));
let pages = [];
for (let i = 0; i < 60 && !pages.length; i++) {
  try { pages = (await (await fetch(`http://127.0.0.1:${cdpPort}/json/list`)).json()).filter(p => p.type === "page"); } catch { await pause(500); }
}
const ws = new WebSocket(pages[0].webSocketDebuggerUrl);
await new Promise(r => ws.addEventListener("open", r, { once: true }));
let next = 0; const waiting = new Map();
ws.addEventListener("message", e => { const m = JSON.parse(e.data); if (waiting.has(m.id)) { waiting.get(m.id)(m); waiting.delete(m.id); } });
const send = (method, params = {}) => new Promise(r => { const id = ++next; waiting.set(id, r); ws.send(JSON.stringify({ id, method, params })); });
await send("Emulation.setDeviceMetricsOverride", { width: 1920, height: 680, deviceScaleFactor: 1, mobile: false });
await send("Page.navigate", { url });
const text = async () => (await send("Runtime.evaluate", { expression: "document.body ? document.body.innerText : ''", returnByValue: true })).result?.result?.value ?? "";
let body = "";
for (let i = 0; i < 120; i++) {
  body = await text();
  if (body.includes("evolution-live") && /\d+ tps/.test(body) && /gen \d+ of \d+|completed/.test(body)) break;
  await pause(500);
}
// Without a trusted ASP.NET Core development certificate the dashboard shows a notice about it; D8 runs on plain
// HTTP and needs none, so the notice is dismissed as a user would.
const dismiss = `(() => {
  const bars = [...document.querySelectorAll("*")].filter(e => e.textContent.includes("No trusted development certificate")
    && e.querySelector("button, fluent-button, [role=button]"));
  const bar = bars[bars.length - 1];
  if (!bar) return "no notice";
  const buttons = bar.querySelectorAll("button, fluent-button, [role=button]");
  buttons[buttons.length - 1].click();
  return "notice dismissed";
})()`;
console.log((await send("Runtime.evaluate", { expression: dismiss, returnByValue: true })).result?.result?.value);
await pause(1500);
if ((await text()).includes("No trusted development certificate")) console.log("the certificate notice is still shown");
const shot = await send("Page.captureScreenshot", { format: "png" });
fs.writeFileSync(file, Buffer.from(shot.result.data, "base64"));
console.log(body.includes("evolution-live") ? "captured" : "captured without the evolution row:\n" + body.slice(0, 2000));
ws.close();
JS
cat "$work/cdp.log"
cp "$work/dashboard.png" "$out"
echo "wrote $out"
