// Live refresh: an element with data-refresh="SECONDS" is fetched again
// every so often and replaced, unless the reader is typing in a form.
// The pages work the same without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
	const live = document.querySelector("[data-refresh]");
	if (!live) return;
	const every = Math.max(2, Number(live.dataset.refresh) || 10) * 1000;
	setInterval(async () => {
		if (document.hidden || live.contains(document.activeElement) && document.activeElement.form) return;
		try {
			const r = await fetch(location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}});
			if (!r.ok) return;
			const doc = new DOMParser().parseFromString(await r.text(), "text/html");
			const fresh = doc.getElementById(live.id);
			if (fresh) live.replaceChildren(...fresh.childNodes);
		} catch (e) { /* offline: try again next time */ }
	}, every);
});
