// Passkeys: the browser's WebAuthn API is the one thing here that needs JavaScript. Every
// form marked data-passkey stays hidden unless this script runs in a browser that can make
// or use a passkey; codes from an authenticator app remain the way in without it.
//
// On submit: the form (its CSRF token) is posted to data-options-url for the server's
// options, the phone is asked, and its answer goes back in the form's `credential` field.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) { return; }

  function bytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var raw = atob(base64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }

  function text(buffer) {
    var view = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < view.length; i++) { raw += String.fromCharCode(view[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: bytes(item.id), transports: item.transports };
    });
  }

  function creation(options) {
    options.challenge = bytes(options.challenge);
    options.user.id = bytes(options.user.id);
    options.excludeCredentials = descriptors(options.excludeCredentials);
    return { publicKey: options };
  }

  function request(options) {
    options.challenge = bytes(options.challenge);
    options.allowCredentials = descriptors(options.allowCredentials);
    return { publicKey: options };
  }

  function answer(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: text(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: text(response.clientDataJSON) }
    };
    if (credential.authenticatorAttachment) {
      out.authenticatorAttachment = credential.authenticatorAttachment;
    }
    if (response.attestationObject) {
      out.response.attestationObject = text(response.attestationObject);
      if (response.getTransports) { out.response.transports = response.getTransports(); }
    } else {
      out.response.authenticatorData = text(response.authenticatorData);
      out.response.signature = text(response.signature);
      if (response.userHandle) { out.response.userHandle = text(response.userHandle); }
    }
    return JSON.stringify(out);
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-passkey-needs-script]"),
    function (note) { note.hidden = true; });

  Array.prototype.forEach.call(document.querySelectorAll("form[data-passkey]"), function (form) {
    var error = form.querySelector("[data-passkey-error]");
    var button = form.querySelector("button[type=submit]");
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.hidden = true;
      button.disabled = true;
      fetch(form.getAttribute("data-options-url"), {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin"
      }).then(function (reply) {
        if (!reply.ok) { throw new Error("options refused"); }
        return reply.json();
      }).then(function (options) {
        return form.getAttribute("data-passkey") === "create"
          ? navigator.credentials.create(creation(options))
          : navigator.credentials.get(request(options));
      }).then(function (credential) {
        form.querySelector("input[name=credential]").value = answer(credential);
        form.submit();  // submit() fires no submit event: this handler does not run again
      }).catch(function () {
        button.disabled = false;
        error.hidden = false;
        error.focus();
      });
    });
  });
})();
