// A VC partner's deal-flow journey over HTTP/JSON in Node (18 or later), standard library only: browse the
// companies the founders show your firm, ask to meet the best fit, hear the founders' answer by a signed webhook
// (no polling), and accept. The webhook's signature is checked before anything in it is believed.
//
//   node examples/partner_deal_journey.mjs      # make run's demo (run it with HUB_WEBHOOK_ALLOW_HTTP_LOOPBACK=1)
//
// Settings: those of partner_http.mjs (HUB_PARTNER_URL, HUB_PARTNER_KEY, HUB_PARTNER_CACERT), and
// HUB_WEBHOOK_URL (your endpoint as the hub reaches it; default http://127.0.0.1:<port>/hub, which only a hub
// that allows loopback http accepts), HUB_WEBHOOK_PORT (where this script listens; default any free port),
// HUB_WEBHOOK_WAIT_SECONDS (how long to wait for the founders; default 600), HUB_PARTNER_REASON.
import crypto from "node:crypto";
import http from "node:http";
import { call } from "./partner_http.mjs";

const env = process.env;
const reason = env.HUB_PARTNER_REASON ?? "미팅을 원합니다";
const waitSeconds = Number(env.HUB_WEBHOOK_WAIT_SECONDS ?? 600);
const TOLERANCE = 300; // seconds between the delivery's timestamp and our clock

// X-Hub-Signature is "v1=<hex>" (two during a secret's rotation, comma-separated): HMAC-SHA256 of
// "<X-Hub-Timestamp>.<body>" under the subscription's secret.
function verified(secret, headers, body) {
  const timestamp = headers["x-hub-timestamp"] ?? "";
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE) return false;
  const expected = Buffer.from(
    crypto.createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex"),
  );
  return (headers["x-hub-signature"] ?? "")
    .split(",")
    .map((part) => Buffer.from(part.trim().replace(/^v1=/, "")))
    .some((sent) => sent.length === expected.length && crypto.timingSafeEqual(sent, expected));
}

// An endpoint that answers 204 at once, keeps the deliveries whose signature holds (once per delivery id: a
// retry carries the same one), and lets main() wait for the one it wants.
function receiver() {
  const seen = new Set();
  const waiting = [];
  const inbox = [];
  let secret = "";
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      if (!secret || !verified(secret, request.headers, body)) {
        response.writeHead(401).end();
        return;
      }
      response.writeHead(204).end();
      const id = request.headers["x-hub-delivery"];
      if (seen.has(id)) return;
      seen.add(id);
      inbox.push(JSON.parse(body.toString("utf8")));
      waiting.splice(0).forEach((wake) => wake());
    });
  });
  return {
    server,
    trust(value) {
      secret = value;
    },
    async next(match) {
      const deadline = Date.now() + waitSeconds * 1000;
      for (;;) {
        const found = inbox.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no webhook within ${waitSeconds} s`);
        await new Promise((wake) => {
          waiting.push(wake);
          setTimeout(wake, 1000);
        });
      }
    },
  };
}

async function main() {
  console.log("1. 딜 플로우 (companies shown to your firm), best fit first:");
  const flow = await call("ListDealFlow", { maxResults: 10 });
  const companies = flow.companies ?? [];
  for (const company of companies) {
    const asked = company.introduction ? `  (asked: ${company.introduction})` : "";
    console.log(`   ${company.name}  ${company.koreanName ?? ""}  fit ${company.fit?.score ?? 0}${asked}`);
  }
  const chosen = companies.find((company) => !company.introduction);
  if (!chosen) {
    console.error("no company in your deal flow to ask for");
    process.exit(2);
  }

  const hooks = receiver();
  await new Promise((ready) => hooks.server.listen(Number(env.HUB_WEBHOOK_PORT ?? 0), "127.0.0.1", ready));
  const endpoint = env.HUB_WEBHOOK_URL ?? `http://127.0.0.1:${hooks.server.address().port}/hub`;
  const wanted = ["introduction.consented", "introduction.declined"];
  const subscription = await call("CreateWebhookSubscription", {
    webhookSubscription: { url: endpoint, eventTypes: wanted, companies: [chosen.name], description: "journey" },
  });
  hooks.trust(subscription.secret);
  console.log(`2. 웹훅 (webhook) ${subscription.name} -> ${endpoint}`);

  try {
    const intro = await call("RequestIntroduction", {
      company: chosen.name,
      note: `${chosen.koreanName ?? chosen.name}: 시드 라운드를 검토하고 있습니다`,
      requestId: `journey-${chosen.name.replace("/", "-")}`,
    });
    console.log(`3. requested: ${intro.name} (${intro.state}); waiting for the founders' answer`);

    const event = await hooks.next((got) => got.data?.introduction?.name === intro.name);
    console.log(`4. webhook ${event.type} (delivery ${event.id}) for ${intro.name}`);
    if (event.type !== "introduction.consented") {
      console.log(`declined: ${intro.name}`);
      return;
    }
    const answered = await call("RespondToIntroduction", { name: intro.name, accept: true, reason });
    console.log(`5. accepted: ${answered.name} (${answered.state})`);
  } finally {
    await call("DeleteWebhookSubscription", { name: subscription.name });
    hooks.server.close();
  }
}

main().catch((error) => {
  console.error(error.message);
  if (error.body?.details) console.error(JSON.stringify(error.body.details, null, 2));
  process.exit(1);
});
