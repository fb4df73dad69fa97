// Registers the service worker and tells the app when a new version is waiting; the app
// shows "A new version is available — Reload", which calls portalActivateUpdate().
if ("serviceWorker" in navigator) {
  // The first activation takes control of this page too; only a replaced worker reloads.
  const hadController = Boolean(navigator.serviceWorker.controller);
  let reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (reloading || !hadController) return;
    reloading = true;
    window.location.reload();
  });
  const announce = (worker) => {
    window.portalActivateUpdate = () => worker.postMessage({ type: "SKIP_WAITING" });
    window.portalUpdateReady = true; // for an app that hydrates after this
    window.dispatchEvent(new Event("portal-update-ready"));
  };
  navigator.serviceWorker.register("/sw.js").then((reg) => {
    if (reg.waiting && navigator.serviceWorker.controller) announce(reg.waiting);
    reg.addEventListener("updatefound", () => {
      const worker = reg.installing;
      if (!worker) return;
      worker.addEventListener("statechange", () => {
        if (worker.state === "installed" && navigator.serviceWorker.controller) announce(worker);
      });
    });
  });
}

// Just signed out: delete the portal's caches and web storage, then the flag.
if (document.cookie.split("; ").includes("portal_clear=1")) {
  const done = () => {
    document.cookie = "portal_clear=; Path=/; Max-Age=0; SameSite=Lax";
    window.dispatchEvent(new Event("portal-cleared"));
    document.documentElement.dataset.cleared = "true";
  };
  try {
    localStorage.clear();
    sessionStorage.clear();
  } catch (_) {
    // Storage may be unavailable (private modes); nothing to clear then.
  }
  if ("caches" in window) {
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("portal-")).map((n) => caches.delete(n))))
      .then(done, done);
  } else {
    done();
  }
}
