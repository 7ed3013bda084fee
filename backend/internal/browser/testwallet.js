// A test wallet: an EIP-1193 provider announced through EIP-6963, injected into
// every document before the page's own scripts, the way a wallet extension does.
// Browser.MustInjectWallet replaces __CONFIG__ with its WalletConfig as JSON.
//
// It keeps no keys. eth_sendTransaction and personal_sign go to the test's signer,
// a Go function of the test process reached through a DevTools binding
// (window.__testWalletSign, answered with window.__testWalletReply): a binding,
// not a fetch, so the page's Content-Security-Policy (connect-src 'self') does not
// stop it, as it does not stop a real wallet extension. Without a binding the
// signer is cfg.signerURL + "/tx" or "/message". Reads go to cfg.rpcURL. The test steers it through
// window.testWallet: reject[method] = n rejects the next n calls with 4001,
// setChain(id) moves it to another network (as the user would), knownChains says
// which networks wallet_switchEthereumChain knows (others answer 4902), and calls
// records every request.
(() => {
  const cfg = __CONFIG__;
  const w = (window.testWallet = {
    address: cfg.address.toLowerCase(),
    chainId: cfg.chainId,
    knownChains: new Set(cfg.knownChains || [cfg.chainId]),
    connected: false,
    reject: {},
    calls: [],
    added: null,
    listeners: {},
  });
  const emit = (event, arg) => {
    for (const f of w.listeners[event] || []) {
      try {
        f(arg);
      } catch (e) {
        console.error("test wallet listener", e);
      }
    }
  };
  w.setChain = (id) => {
    w.knownChains.add(id);
    w.chainId = id;
    emit("chainChanged", id);
  };
  const fail = (code, message) => {
    const e = new Error(message);
    e.code = code;
    return e;
  };
  const post = async (url, body) => {
    const res = await fetch(url, { method: "POST", body: JSON.stringify(body) });
    const out = await res.json();
    if (out.error) {
      throw fail(out.error.code || -32603, out.error.message || String(out.error));
    }
    return out.result;
  };
  const pending = {};
  let seq = 0;
  window.__testWalletReply = (id, result, error) => {
    const p = pending[id];
    delete pending[id];
    if (p && error) p.reject(fail(-32603, error));
    else if (p) p.resolve(result);
  };
  const sign = (kind, body) =>
    typeof window.__testWalletSign === "function"
      ? new Promise((resolve, reject) => {
          const id = ++seq;
          pending[id] = { resolve, reject };
          window.__testWalletSign(JSON.stringify({ id, kind, body }));
        })
      : post(cfg.signerURL + "/" + kind, body);
  const rpc = (method, params) =>
    post(cfg.rpcURL, { jsonrpc: "2.0", id: Date.now(), method, params });

  const provider = {
    isTestWallet: true,
    async request({ method, params }) {
      params = params || [];
      w.calls.push({ method, params });
      if (w.reject[method] > 0) {
        w.reject[method]--;
        throw fail(4001, "User rejected the request.");
      }
      switch (method) {
        case "eth_requestAccounts":
          if (!w.connected) {
            w.connected = true;
            emit("accountsChanged", [w.address]);
          }
          return [w.address];
        case "eth_accounts":
          return w.connected ? [w.address] : [];
        case "eth_chainId":
          return w.chainId;
        case "wallet_switchEthereumChain": {
          const id = params[0].chainId;
          if (!w.knownChains.has(id)) {
            throw fail(4902, "Unrecognized chain ID " + id + ". Try adding the chain using wallet_addEthereumChain first.");
          }
          w.setChain(id);
          return null;
        }
        case "wallet_addEthereumChain":
          w.added = params[0];
          w.setChain(params[0].chainId);
          return null;
        case "eth_sendTransaction": {
          if (!w.connected) throw fail(4100, "The requested account has not been authorized.");
          const tx = params[0];
          if (tx.chainId && tx.chainId !== w.chainId) {
            throw fail(-32602, "chainId " + tx.chainId + " does not match the wallet's network " + w.chainId);
          }
          return sign("tx", { from: tx.from, to: tx.to, value: tx.value, chainId: w.chainId });
        }
        case "personal_sign":
          if (!w.connected) throw fail(4100, "The requested account has not been authorized.");
          return sign("message", { message: params[0], address: params[1] });
        default:
          return rpc(method, params);
      }
    },
    on(event, f) {
      (w.listeners[event] = w.listeners[event] || []).push(f);
    },
    removeListener(event, f) {
      w.listeners[event] = (w.listeners[event] || []).filter((g) => g !== f);
    },
  };
  const announce = () =>
    window.dispatchEvent(
      new CustomEvent("eip6963:announceProvider", {
        detail: Object.freeze({
          info: { uuid: cfg.uuid, name: cfg.name, icon: cfg.icon, rdns: cfg.rdns },
          provider,
        }),
      })
    );
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();
