// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// Forwarder stands in for a smart-contract wallet in tests: the buyer's transaction
// goes to this contract, and the ETH reaches the payment address only as an internal
// call, which a watcher can find only by tracing the transaction.
contract Forwarder {
    address payable public immutable to;

    constructor(address payable to_) {
        to = to_;
    }

    // pay forwards all of msg.value to `to` in one internal call.
    function pay() external payable {
        send(msg.value);
    }

    // payInTwo forwards msg.value in two internal calls, which a watcher must add up.
    function payInTwo() external payable {
        send(msg.value / 2);
        send(msg.value - msg.value / 2);
    }

    // payReverted forwards msg.value from a sub-call that then reverts, and swallows the
    // revert: the transaction succeeds, the trace shows a call with value to `to`, yet
    // nothing arrives (the ETH stays here).
    function payReverted() external payable {
        try this.sendThenRevert{value: msg.value}() {} catch {}
    }

    function sendThenRevert() external payable {
        send(msg.value);
        revert("undone");
    }

    function send(uint256 amount) private {
        (bool ok, ) = to.call{value: amount}("");
        require(ok, "forward failed");
    }
}
