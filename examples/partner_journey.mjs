// A VC partner's journey over HTTP/JSON in Node (18 or later), with nothing but its standard library: list the
// introductions your firm may answer, accept the first, read it back. Over a rate limit (HTTP 429) it waits
// as long as Retry-After says and tries again.
//
//   node examples/partner_journey.mjs              # make run's demo: https://127.0.0.1:50073, var/partner-key
//
// Settings: HUB_PARTNER_URL (default https://127.0.0.1:50073), HUB_PARTNER_KEY (default: the contents of
// var/partner-key), HUB_PARTNER_CACERT (default var/tls/partner.crt, make run's self-signed certificate; empty
// for a certificate your system trusts), HUB_PARTNER_REASON (what the company reads with your answer).
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";

const env = process.env;
const url = new URL(env.HUB_PARTNER_URL ?? "https://127.0.0.1:50073");
const key = (env.HUB_PARTNER_KEY ?? readFileSync("var/partner-key", "utf8")).trim();
const cacert = env.HUB_PARTNER_CACERT ?? "var/tls/partner.crt";
const reason = env.HUB_PARTNER_REASON ?? "미팅을 원합니다";
const service = "/hub.investors.v1.PartnerService";

class PartnerError extends Error {
  constructor(method, status, body) {
    super(`${method}: HTTP ${status} ${body.code}: ${body.message}`);
    this.status = status;
    this.body = body; // {code, message, details: [{type, value, debug}]}
  }
}

function post(method, message) {
  const body = Buffer.from(JSON.stringify(message));
  const secure = url.protocol === "https:";
  const options = {
    method: "POST",
    hostname: url.hostname,
    port: url.port,
    path: `${service}/${method}`,
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      "content-length": body.length,
    },
    ...(secure && cacert ? { ca: readFileSync(cacert) } : {}),
  };
  return new Promise((resolve, reject) => {
    const request = (secure ? https : http).request(options, (response) => {
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: response.statusCode, headers: response.headers, body: text ? JSON.parse(text) : {} });
      });
    });
    request.on("error", reject);
    request.end(body);
  });
}

// One call: its answer, or a PartnerError; over a rate limit, waits Retry-After seconds and tries again.
async function call(method, message) {
  for (let attempt = 1; ; attempt++) {
    const answer = await post(method, message);
    if (answer.status === 200) return answer.body;
    if (answer.status === 429 && attempt < 5) {
      const seconds = Number(answer.headers["retry-after"] ?? 1);
      console.error(`${method}: over the rate limit; retrying in ${seconds} s`);
      await new Promise((done) => setTimeout(done, seconds * 1000));
      continue;
    }
    throw new PartnerError(method, answer.status, answer.body);
  }
}

async function main() {
  console.log("1. Introductions waiting for your answer (the company has consented):");
  const waiting = await call("ListIntroductions", { filter: "state=COMPANY_CONSENTED", pageSize: 10 });
  const introductions = waiting.introductions ?? [];
  for (const intro of introductions) {
    const company = intro.company ?? {};
    console.log(`   ${intro.name}  ${company.koreanName ?? ""} ${company.sector ?? ""} ${company.stage ?? ""}`);
  }
  if (introductions.length === 0) {
    console.error("nothing waits for an answer");
    process.exit(2);
  }
  const name = introductions[0].name;
  console.log(`2. Accepting ${name}:`);
  const answered = await call("RespondToIntroduction", { name, accept: true, reason });
  console.log(`   ${answered.state}`);
  console.log(`3. ${name} as the hub now has it:`);
  const now = await call("GetIntroduction", { name });
  console.log(JSON.stringify(now, null, 2));
  if (now.state !== "INTRODUCTION_STATE_PARTNER_ACCEPTED") {
    console.error(`${name} is not accepted`);
    process.exit(1);
  }
  console.log(`accepted: ${name}`);
}

main().catch((error) => {
  console.error(error.message);
  if (error.body?.details) console.error(JSON.stringify(error.body.details, null, 2));
  process.exit(1);
});
