package gethdev

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// forwarderCode is the creation code of forwarder.sol, compiled with solc-js 0.8.28
// (npm package solc@0.8.28, optimizer on, 200 runs, default EVM version) in a
// temporary directory outside the repository:
//
//	npm install solc@0.8.28
//	node -e 'const solc = require("solc"), fs = require("fs");
//	  const out = JSON.parse(solc.compile(JSON.stringify({language: "Solidity",
//	    sources: {"forwarder.sol": {content: fs.readFileSync("forwarder.sol", "utf8")}},
//	    settings: {optimizer: {enabled: true, runs: 200},
//	      outputSelection: {"*": {"*": ["evm.bytecode.object"]}}}})));
//	  console.log(out.contracts["forwarder.sol"].Forwarder.evm.bytecode.object)'
//
// Its constructor takes the address to forward to as its one argument.
const forwarderCode = "60a0604052348015600e575f5ffd5b50604051610337380380610337833981016040819052602b91603b565b6001600160a01b03166080526066565b5f60208284031215604a575f5ffd5b81516001600160a01b0381168114605f575f5ffd5b9392505050565b6080516102b36100845f395f8181605e015261018801526102b35ff3fe608060405260043610610049575f3560e01c8063131519811461004d5780631b9265b81461009c578063b09b2692146100a6578063b9f8035a146100ae578063cf5a5a5f146100b6575b5f5ffd5b348015610058575f5ffd5b506100807f000000000000000000000000000000000000000000000000000000000000000081565b6040516001600160a01b03909116815260200160405180910390f35b6100a46100be565b005b6100a46100c9565b6100a4610108565b6100a4610133565b6100c734610185565b565b6100d234610185565b60405162461bcd60e51b8152602060048201526006602482015265756e646f6e6560d01b60448201526064015b60405180910390fd5b61011b610116600234610239565b610185565b6100c7610129600234610239565b6101169034610258565b306001600160a01b031663b09b2692346040518263ffffffff1660e01b81526004015f604051808303818588803b15801561016c575f5ffd5b505af19350505050801561017e575060015b156100c757565b5f7f00000000000000000000000000000000000000000000000000000000000000006001600160a01b0316826040515f6040518083038185875af1925050503d805f81146101ee576040519150601f19603f3d011682016040523d82523d5f602084013e6101f3565b606091505b50509050806102355760405162461bcd60e51b815260206004820152600e60248201526d199bdc9dd85c990819985a5b195960921b60448201526064016100ff565b5050565b5f8261025357634e487b7160e01b5f52601260045260245ffd5b500490565b8181038181111561027757634e487b7160e01b5f52601160045260245ffd5b9291505056fea26469706673582212209ce641d517e50a758a53273c71bb231e687fd25b9cc954fa858e26a1af80fd7164736f6c634300081c0033"

// Calldata for the forwarder's functions (their 4-byte selectors; none takes
// arguments).
var (
	// ForwarderPay forwards all of msg.value to the payment address in one call.
	ForwarderPay = common.FromHex("0x1b9265b8")
	// ForwarderPayInTwo forwards msg.value in two calls.
	ForwarderPayInTwo = common.FromHex("0xb9f8035a")
	// ForwarderPayReverted forwards msg.value from a sub-call that then reverts,
	// swallowing the revert: the transaction succeeds and nothing arrives.
	ForwarderPayReverted = common.FromHex("0xcf5a5a5f")
)

// DeployForwarder deploys forwarder.sol, a stand-in for a smart-contract wallet
// whose functions pass msg.value on to to as internal calls, and returns its address.
func (n *Node) DeployForwarder(tb testing.TB, to common.Address) common.Address {
	tb.Helper()
	code := append(common.FromHex(forwarderCode), common.LeftPadBytes(to.Bytes(), 32)...)
	r := n.WaitReceipt(tb, n.SendFromDev(tb, nil, nil, code))
	if r.Status != 1 || r.ContractAddress == nil {
		tb.Fatalf("gethdev: deploying the forwarder failed: status %d", r.Status)
	}
	return *r.ContractAddress
}
