// A VC partner's journey over HTTP/JSON in Node (18 or later), with nothing but its standard library: list the
// introductions your firm may answer, accept the first, read it back. Over a rate limit (HTTP 429) it waits
// as long as Retry-After says and tries again.
//
//   node examples/partner_journey.mjs              # make run's demo: https://127.0.0.1:50073, var/partner-key
//
// Settings: those of partner_http.mjs (HUB_PARTNER_URL, HUB_PARTNER_KEY, HUB_PARTNER_CACERT), and
// HUB_PARTNER_REASON (what the company reads with your answer).
import { call } from "./partner_http.mjs";

const reason = process.env.HUB_PARTNER_REASON ?? "미팅을 원합니다";

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
