// Live pages: a page whose <body data-live="…"> names what it shows ("*" for the whole hub, "companies/3"
// for one company) fetches itself again when the hub says that changed, and swaps its <main> in place. While
// someone is typing in one of its forms it does not swap: it says that the page changed, with a link to reload.
(function () {
  const scope = document.body.dataset.live;
  if (!scope || !window.EventSource || !window.fetch || !window.DOMParser) return;
  let timer = null;

  // A select has no defaultValue: it is changed when its choice differs from the page's (the option marked
  // selected, else the first one).
  function changed(field) {
    if (field.tagName !== "SELECT") return field.value !== field.defaultValue;
    const options = [...field.options];
    if (field.multiple) return options.some((option) => option.selected !== option.defaultSelected);
    return field.selectedIndex !== Math.max(0, options.findIndex((option) => option.defaultSelected));
  }

  function typing() {
    return [...document.querySelectorAll("main input, main textarea, main select")].some(
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
