// Carte kiosk: renders the terminal service's event stream (GET /v1/events, WebSocket).
// The bearer token (TCP mode) comes from the page address: /kiosk/#token=… (a fragment is never sent to a server).
// Only textContent is used: nothing from the stream is interpreted as HTML. No PIN ever reaches this page; NIR and
// INS arrive already masked.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  const roles = {};

  function set(id, text, cls) {
    const el = $(id);
    el.textContent = text;
    if (cls !== undefined) el.className = "step " + cls;
  }

  function log(text) { $("log").textContent = text; }

  function reset(role) {
    if (role === "professional") { set("pro-step", "Insert your card", ""); set("pro-detail", ""); }
    if (role === "patient") { set("pat-step", "Insert the patient's carte Vitale", ""); $("beneficiaries").textContent = ""; set("pat-detail", ""); }
    if (role === "badge") { set("badge-step", "Tap your badge", ""); set("badge-detail", ""); }
  }

  function showPatient(p) {
    set("pat-step", "Patient identified", "ok");
    const ul = $("beneficiaries");
    ul.textContent = "";
    (p.beneficiaries || []).forEach((b, i) => {
      const li = document.createElement("li");
      if (p.chosen === i) li.className = "chosen";
      const ins = b.insMasked ? "INS " + b.insMasked
        : b.inscMasked ? "INS-C " + b.inscMasked : "no INS (" + (b.insReason || "unknown") + ")";
      li.textContent = b.prenom + " " + b.nom + " — born " + b.dateNaissance + " — " + ins +
        (b.rightsOpen ? "" : " — rights closed");
      ul.appendChild(li);
    });
    const chosen = p.beneficiaries && p.chosen !== undefined && p.chosen !== null ? p.beneficiaries[p.chosen] : null;
    set("pat-detail", chosen ? "Beneficiary chosen: " + chosen.prenom + " " + chosen.nom : "Choose the beneficiary");
  }

  function authenticated(prefix, identity, assurance) {
    const who = [identity.prenom, identity.nom].filter(Boolean).join(" ");
    set(prefix + "-step", "Authenticated as " + who, "ok");
    set(prefix + "-detail", [identity.profession, identity.cardType, assurance].filter(Boolean).join(" · "));
  }

  function apply(e) {
    const role = e.role || roles[e.reader];
    if (e.reader && e.role) roles[e.reader] = e.role;
    const prefix = role === "professional" ? "pro" : role === "patient" ? "pat" : "badge";
    switch (e.type) {
      case "cardInserted": set(prefix + "-step", "Reading the card…", "wait"); set(prefix + "-detail", ""); break;
      case "cardRecognised": set(prefix + "-detail", "Card: " + e.cardKind); break;
      case "pinRequested":
        set(prefix + "-step", e.onPinpad ? "Enter your PIN on the reader" : "Enter your PIN on the keypad", "wait");
        break;
      case "authenticated": authenticated(prefix, e.identity, e.assurance); break;
      case "patientIdentified": showPatient(e.patient); break;
      case "refused": set(prefix + "-step", "Refused: " + (e.reasonText || e.reason), "no"); break;
      case "cardRemoved": case "idle": case "readerUnplugged": case "readerDegraded": reset(role); break;
      case "monitoringDegraded": log("Reader monitoring interrupted: " + (e.reasonText || "")); break;
      case "monitoringRestored": log("Reader monitoring restored"); break;
    }
  }

  function applySnapshot(s) {
    (s.readers || []).forEach((r) => {
      roles[r.id] = r.role;
      const prefix = r.role === "professional" ? "pro" : r.role === "patient" ? "pat" : "badge";
      if (r.state === "authenticated" && r.identity) authenticated(prefix, r.identity, "");
      else if (r.state === "patientIdentified" && r.patient) showPatient(r.patient);
      else if (r.state === "pinPending") set(prefix + "-step", "Enter your PIN on the reader", "wait");
      else if (r.state === "refused") set(prefix + "-step", "Refused: " + r.reason, "no");
    });
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const url = scheme + location.host + "/v1/events" + (token ? "?access_token=" + encodeURIComponent(token) : "");
    const ws = new WebSocket(url);
    ws.onopen = () => { $("connection").textContent = "connected"; $("connection").className = "badge on"; };
    ws.onclose = () => {
      $("connection").textContent = "disconnected"; $("connection").className = "badge off";
      setTimeout(connect, 2000);
    };
    ws.onmessage = (m) => {
      let e;
      try { e = JSON.parse(m.data); } catch (_) { return; }
      if (e.type === "snapshot") applySnapshot(e); else apply(e);
    };
  }
  connect();
})();
