// The partner API over HTTP/JSON for Node's journeys (standard library only): `call(method, message)` posts the
// JSON body to /hub.investors.v1.PartnerService/<method> with your key and returns the answer, or throws a
// PartnerError with the HTTP status and the error JSON; over a rate limit (HTTP 429) it waits as Retry-After says.
//
// Settings: HUB_PARTNER_URL (default https://127.0.0.1:50073), HUB_PARTNER_KEY (default: the contents of
// var/partner-key), HUB_PARTNER_CACERT (default var/tls/partner.crt, make run's self-signed certificate; empty
// for a certificate your system trusts).
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";

const env = process.env;
const url = new URL(env.HUB_PARTNER_URL ?? "https://127.0.0.1:50073");
const key = (env.HUB_PARTNER_KEY ?? readFileSync("var/partner-key", "utf8")).trim();
const cacert = env.HUB_PARTNER_CACERT ?? "var/tls/partner.crt";
const service = "/hub.investors.v1.PartnerService";

export class PartnerError extends Error {
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
export async function call(method, message) {
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
