// Live pages: a page whose <body data-live="…"> names what it shows ("*" for the whole hub, "companies/3"
// for one company) fetches itself again when the hub says that changed, and swaps its <main> in place. While
// someone is typing in one of its forms it does not swap: it says that the page changed, with a link to reload.
(function () {
  const scope = document.body.dataset.live;
  if (!scope || !window.EventSource || !window.fetch || !window.DOMParser) return;
  let timer = null;

  // A field someone is in, or has changed: text from its default, a box or a choice from the one it came with
  // (a <select> has no defaultValue: its options say what was marked selected, else the first one stands).
  function changed(field) {
    if (field.tagName === "SELECT" && field.multiple) {
      return [...field.options].some((o) => o.selected !== o.defaultSelected);
    }
    if (field.tagName === "SELECT") {
      return field.selectedIndex !== Math.max(0, [...field.options].findIndex((o) => o.defaultSelected));
    }
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    return field.value !== field.defaultValue;
  }

  // A form someone opened (a <details> closed when the page came) is work begun too.
  let openAtLoad = new Set(document.querySelectorAll("main details[open]"));

  function typing() {
    const opened = [...document.querySelectorAll("main details[open]")].some((d) => !openAtLoad.has(d));
    return opened || [...document.querySelectorAll("main input, main textarea, main select")].some(
      (field) => field.type !== "hidden" && (changed(field) || document.activeElement === field)
    );
  }

  async function refresh() {
    if (typing()) {
      const note = document.getElementById("live-note");
      if (note) note.hidden = false;
      return;
    }
    const answer = await fetch(window.location.href, { credentials: "same-origin", headers: { "x-live": "1" } });
    if (!answer.ok || answer.redirected) return;
    const fresh = new DOMParser().parseFromString(await answer.text(), "text/html").querySelector("main");
    const main = document.querySelector("main");
    if (fresh && main) {
      main.replaceWith(fresh);
      openAtLoad = new Set(document.querySelectorAll("main details[open]"));
      document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || "0") + 1);
    }
  }

  const source = new EventSource("/events");
  source.addEventListener("change", (event) => {
    const change = JSON.parse(event.data);
    if (scope === "*" || change.companies.includes(scope)) {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300); // a burst of events is one refresh
    }
  });
})();
