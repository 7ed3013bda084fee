package chain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// The types below are what a Base (OP Stack) node returns from eth_getBlockByNumber,
// eth_getTransactionReceipt and friends, decoded from raw JSON. They exist because
// go-ethereum's own types refuse what geth does not know: ethclient.BlockByNumber fails
// on the first deposit transaction (type 0x7E) of every Base block.
//
// Decoding is strict about what this package relies on (hashes, numbers, the sender,
// the value) and returns an error when any of it is missing or malformed; it is
// lenient about what it does not use, so a new field or transaction type from a
// future upgrade does not stop the watcher.

// DepositTxType is the OP Stack deposit transaction type: L1-info transactions at the
// start of every block, and ETH or calls deposited from L1.
const DepositTxType = 0x7E

// BlockHeader is the header part of a block, as in eth_getBlockByNumber(n, false) or a
// newHeads notification.
type BlockHeader struct {
	Number     hexutil.Uint64 `json:"number"`
	Hash       common.Hash    `json:"hash"`
	ParentHash common.Hash    `json:"parentHash"`
	Timestamp  hexutil.Uint64 `json:"timestamp"`

	UncleHash        common.Hash      `json:"sha3Uncles"`
	Miner            common.Address   `json:"miner"`
	StateRoot        common.Hash      `json:"stateRoot"`
	TransactionsRoot common.Hash      `json:"transactionsRoot"`
	ReceiptsRoot     common.Hash      `json:"receiptsRoot"`
	LogsBloom        types.Bloom      `json:"logsBloom"`
	Difficulty       *hexutil.Big     `json:"difficulty"`
	GasLimit         hexutil.Uint64   `json:"gasLimit"`
	GasUsed          hexutil.Uint64   `json:"gasUsed"`
	ExtraData        hexutil.Bytes    `json:"extraData"`
	MixHash          common.Hash      `json:"mixHash"`
	Nonce            types.BlockNonce `json:"nonce"`
	Size             *hexutil.Uint64  `json:"size,omitempty"`
	TotalDifficulty  *hexutil.Big     `json:"totalDifficulty,omitempty"`

	BaseFeePerGas         *hexutil.Big        `json:"baseFeePerGas,omitempty"`         // London
	WithdrawalsRoot       *common.Hash        `json:"withdrawalsRoot,omitempty"`       // Shanghai (Canyon on Base)
	Withdrawals           []*types.Withdrawal `json:"withdrawals,omitempty"`           // always empty on Base
	BlobGasUsed           *hexutil.Uint64     `json:"blobGasUsed,omitempty"`           // Cancun; on Base since Jovian, the DA footprint
	ExcessBlobGas         *hexutil.Uint64     `json:"excessBlobGas,omitempty"`         // Cancun
	ParentBeaconBlockRoot *common.Hash        `json:"parentBeaconBlockRoot,omitempty"` // Cancun (Ecotone on Base)
	RequestsHash          *common.Hash        `json:"requestsHash,omitempty"`          // Prague (Isthmus on Base)
	Uncles                []common.Hash       `json:"uncles"`
}

// Block is a block with its transactions: full objects in Transactions when it was
// asked for with eth_getBlockByNumber(n, true), or only their hashes in TxHashes when
// asked with false.
type Block struct {
	BlockHeader
	Transactions []Transaction
	TxHashes     []common.Hash
}

// Transaction is a transaction object of any type: legacy (0x0), access list (0x1),
// dynamic fee (0x2), blob (0x3), set code (0x4) and OP Stack deposits (0x7E). Fields a
// type does not have are nil. Deposits have no signature: V, R and S are zero on Base
// mainnet today and null in pre-Regolith blocks, as is GasPrice.
type Transaction struct {
	Type  hexutil.Uint64  `json:"type"`
	Hash  common.Hash     `json:"hash"`
	From  common.Address  `json:"from"`
	To    *common.Address `json:"to"` // nil creates a contract
	Value *hexutil.Big    `json:"value"`
	Nonce hexutil.Uint64  `json:"nonce"`
	Gas   hexutil.Uint64  `json:"gas"`
	Input hexutil.Bytes   `json:"input"`

	GasPrice             *hexutil.Big                 `json:"gasPrice"`
	MaxFeePerGas         *hexutil.Big                 `json:"maxFeePerGas,omitempty"`
	MaxPriorityFeePerGas *hexutil.Big                 `json:"maxPriorityFeePerGas,omitempty"`
	MaxFeePerBlobGas     *hexutil.Big                 `json:"maxFeePerBlobGas,omitempty"`
	ChainID              *hexutil.Big                 `json:"chainId,omitempty"`
	AccessList           *types.AccessList            `json:"accessList,omitempty"`
	BlobVersionedHashes  []common.Hash                `json:"blobVersionedHashes,omitempty"`
	AuthorizationList    []types.SetCodeAuthorization `json:"authorizationList,omitempty"`
	V                    *hexutil.Big                 `json:"v"`
	R                    *hexutil.Big                 `json:"r"`
	S                    *hexutil.Big                 `json:"s"`
	YParity              *hexutil.Uint64              `json:"yParity,omitempty"`

	BlockHash        *common.Hash    `json:"blockHash"` // nil while pending
	BlockNumber      *hexutil.Uint64 `json:"blockNumber"`
	TransactionIndex *hexutil.Uint64 `json:"transactionIndex"`

	// OP Stack deposits (type 0x7E) only.
	SourceHash            *common.Hash    `json:"sourceHash,omitempty"`
	Mint                  *hexutil.Big    `json:"mint,omitempty"`
	IsSystemTx            *bool           `json:"isSystemTx,omitempty"` // true only for pre-Regolith L1-info deposits
	DepositReceiptVersion *hexutil.Uint64 `json:"depositReceiptVersion,omitempty"`
}

// Receipt is a transaction receipt, with the OP Stack's deposit and L1 fee fields.
type Receipt struct {
	Type              hexutil.Uint64  `json:"type"`
	Status            hexutil.Uint64  `json:"status"` // 1 success, 0 failure
	TransactionHash   common.Hash     `json:"transactionHash"`
	TransactionIndex  hexutil.Uint64  `json:"transactionIndex"`
	BlockHash         common.Hash     `json:"blockHash"`
	BlockNumber       hexutil.Uint64  `json:"blockNumber"`
	From              common.Address  `json:"from"`
	To                *common.Address `json:"to"`
	ContractAddress   *common.Address `json:"contractAddress"`
	CumulativeGasUsed hexutil.Uint64  `json:"cumulativeGasUsed"`
	GasUsed           hexutil.Uint64  `json:"gasUsed"`
	EffectiveGasPrice *hexutil.Big    `json:"effectiveGasPrice,omitempty"`
	BlobGasUsed       *hexutil.Uint64 `json:"blobGasUsed,omitempty"`
	BlobGasPrice      *hexutil.Big    `json:"blobGasPrice,omitempty"`
	Logs              []Log           `json:"logs"`
	LogsBloom         types.Bloom     `json:"logsBloom"`

	// OP Stack deposits.
	DepositNonce          *hexutil.Uint64 `json:"depositNonce,omitempty"`
	DepositReceiptVersion *hexutil.Uint64 `json:"depositReceiptVersion,omitempty"`

	// OP Stack L1 data fee. Which fields are present depends on the upgrade the block
	// was built under: L1FeeScalar (a decimal string such as "0.684") until Ecotone,
	// the two scalars and L1BlobBaseFee from Ecotone, the operator fee from Isthmus,
	// DAFootprintGasScalar from Jovian.
	L1GasPrice           *hexutil.Big    `json:"l1GasPrice,omitempty"`
	L1GasUsed            *hexutil.Big    `json:"l1GasUsed,omitempty"`
	L1Fee                *hexutil.Big    `json:"l1Fee,omitempty"`
	L1FeeScalar          string          `json:"l1FeeScalar,omitempty"`
	L1BaseFeeScalar      *hexutil.Uint64 `json:"l1BaseFeeScalar,omitempty"`
	L1BlobBaseFee        *hexutil.Big    `json:"l1BlobBaseFee,omitempty"`
	L1BlobBaseFeeScalar  *hexutil.Uint64 `json:"l1BlobBaseFeeScalar,omitempty"`
	OperatorFeeScalar    *hexutil.Uint64 `json:"operatorFeeScalar,omitempty"`
	OperatorFeeConstant  *hexutil.Uint64 `json:"operatorFeeConstant,omitempty"`
	DAFootprintGasScalar *hexutil.Uint64 `json:"daFootprintGasScalar,omitempty"`
}

// Log is one event log of a receipt.
type Log struct {
	Address          common.Address  `json:"address"`
	Topics           []common.Hash   `json:"topics"`
	Data             hexutil.Bytes   `json:"data"`
	BlockNumber      hexutil.Uint64  `json:"blockNumber"`
	BlockHash        common.Hash     `json:"blockHash"`
	BlockTimestamp   *hexutil.Uint64 `json:"blockTimestamp,omitempty"`
	TransactionHash  common.Hash     `json:"transactionHash"`
	TransactionIndex hexutil.Uint64  `json:"transactionIndex"`
	LogIndex         hexutil.Uint64  `json:"logIndex"`
	Removed          bool            `json:"removed"`
}

// ErrDecode is wrapped by every decoding error of this package: the node's answer
// lacks a field this package relies on or has one in the wrong form.
var ErrDecode = errors.New("chain: cannot decode node answer")

func decodeErr(what, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrDecode, what, fmt.Sprintf(format, args...))
}

// isNull reports whether a JSON value is the literal null, which the node sends for a
// block, transaction or receipt it does not have (yet).
func isNull(data []byte) bool { return bytes.Equal(bytes.TrimSpace(data), []byte("null")) }

// The wire structs below decode in one pass: the fields this package requires are
// pointers in the outer struct, which shadow the same JSON keys of the embedded
// method-less copy of the public struct, so a missing field is told from a zero one.

type headerNoMethods BlockHeader

type headerWire struct {
	headerNoMethods
	Number     *hexutil.Uint64 `json:"number"`
	Hash       *common.Hash    `json:"hash"`
	ParentHash *common.Hash    `json:"parentHash"`
	Timestamp  *hexutil.Uint64 `json:"timestamp"`
}

func (w *headerWire) header() (BlockHeader, error) {
	switch {
	case w.Number == nil:
		return BlockHeader{}, decodeErr("block", "missing number")
	case w.Hash == nil:
		return BlockHeader{}, decodeErr("block", "missing hash")
	case w.ParentHash == nil:
		return BlockHeader{}, decodeErr("block", "missing parentHash")
	case w.Timestamp == nil:
		return BlockHeader{}, decodeErr("block", "missing timestamp")
	}
	h := BlockHeader(w.headerNoMethods)
	h.Number, h.Hash, h.ParentHash, h.Timestamp = *w.Number, *w.Hash, *w.ParentHash, *w.Timestamp
	return h, nil
}

// UnmarshalJSON decodes a header and fails if number, hash, parentHash or timestamp
// is missing. A null leaves h unchanged.
func (h *BlockHeader) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	var w headerWire
	if err := json.Unmarshal(data, &w); err != nil {
		return decodeErr("block", "%v", err)
	}
	hh, err := w.header()
	if err != nil {
		return err
	}
	*h = hh
	return nil
}

// UnmarshalJSON decodes a block whose transactions are either all hashes or all
// objects, and fails if the header lacks a required field or the transactions are
// missing or malformed. A null leaves b unchanged.
func (b *Block) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	var w struct {
		headerWire
		Transactions json.RawMessage `json:"transactions"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return decodeErr("block", "%v", err)
	}
	h, err := w.header()
	if err != nil {
		return err
	}
	out := Block{BlockHeader: h}
	txs := bytes.TrimSpace(w.Transactions)
	if len(txs) < 2 || txs[0] != '[' {
		return decodeErr("block", "transactions must be an array")
	}
	// The first element tells hashes from objects; a mixed array then fails to decode.
	switch first := bytes.TrimLeft(txs[1:], " \t\r\n"); {
	case len(first) > 0 && first[0] == '"':
		err = json.Unmarshal(txs, &out.TxHashes)
	case len(first) > 0 && first[0] == '{':
		err = json.Unmarshal(txs, &out.Transactions)
	case len(first) > 0 && first[0] == ']':
		out.Transactions = []Transaction{}
	default:
		err = decodeErr("block", "transactions must be hashes or objects")
	}
	if errors.Is(err, ErrDecode) {
		return fmt.Errorf("block %d: %w", uint64(h.Number), err)
	} else if err != nil {
		return decodeErr(fmt.Sprintf("block %d", uint64(h.Number)), "transactions: %v", err)
	}
	*b = out
	return nil
}

// MarshalJSON writes the block back in the node's shape: hashes or objects under
// "transactions".
func (b Block) MarshalJSON() ([]byte, error) {
	var txs any = b.Transactions
	if b.TxHashes != nil {
		txs = b.TxHashes
	} else if b.Transactions == nil {
		txs = []Transaction{}
	}
	return json.Marshal(struct {
		headerNoMethods
		Transactions any `json:"transactions"`
	}{headerNoMethods(b.BlockHeader), txs})
}

// EthHeader rebuilds go-ethereum's header from the decoded fields, so that its Hash()
// can be checked against the hash the node sent. Base's headers are Ethereum headers;
// only the transactions inside differ.
func (h *BlockHeader) EthHeader() *types.Header {
	eh := &types.Header{
		ParentHash:       h.ParentHash,
		UncleHash:        h.UncleHash,
		Coinbase:         h.Miner,
		Root:             h.StateRoot,
		TxHash:           h.TransactionsRoot,
		ReceiptHash:      h.ReceiptsRoot,
		Bloom:            h.LogsBloom,
		Difficulty:       new(big.Int),
		Number:           new(big.Int).SetUint64(uint64(h.Number)),
		GasLimit:         uint64(h.GasLimit),
		GasUsed:          uint64(h.GasUsed),
		Time:             uint64(h.Timestamp),
		Extra:            h.ExtraData,
		MixDigest:        h.MixHash,
		Nonce:            h.Nonce,
		WithdrawalsHash:  h.WithdrawalsRoot,
		BlobGasUsed:      (*uint64)(h.BlobGasUsed),
		ExcessBlobGas:    (*uint64)(h.ExcessBlobGas),
		ParentBeaconRoot: h.ParentBeaconBlockRoot,
		RequestsHash:     h.RequestsHash,
	}
	if h.Difficulty != nil {
		eh.Difficulty = h.Difficulty.ToInt()
	}
	if h.BaseFeePerGas != nil {
		eh.BaseFee = h.BaseFeePerGas.ToInt()
	}
	return eh
}

type txNoMethods Transaction

// UnmarshalJSON decodes a transaction of any type and fails if its hash, type, sender
// or value is missing, if its type is outside EIP-2718's range, or if a deposit lacks
// its sourceHash. A null leaves tx unchanged.
func (tx *Transaction) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	var w struct {
		txNoMethods
		Type  *hexutil.Uint64 `json:"type"`
		Hash  *common.Hash    `json:"hash"`
		From  *common.Address `json:"from"`
		Value *hexutil.Big    `json:"value"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return decodeErr("transaction", "%v", err)
	}
	switch {
	case w.Hash == nil:
		return decodeErr("transaction", "missing hash")
	case w.Type == nil:
		return decodeErr("transaction "+w.Hash.Hex(), "missing type")
	case *w.Type > 0x7f:
		return decodeErr("transaction "+w.Hash.Hex(), "type %#x is outside EIP-2718's range", uint64(*w.Type))
	case w.From == nil:
		return decodeErr("transaction "+w.Hash.Hex(), "missing from")
	case w.Value == nil:
		return decodeErr("transaction "+w.Hash.Hex(), "missing value")
	case *w.Type == DepositTxType && w.SourceHash == nil:
		return decodeErr("transaction "+w.Hash.Hex(), "deposit without sourceHash")
	}
	t := Transaction(w.txNoMethods)
	t.Type, t.Hash, t.From, t.Value = *w.Type, *w.Hash, *w.From, w.Value
	*tx = t
	return nil
}

// IsDeposit reports whether tx is an OP Stack deposit (type 0x7E).
func (tx *Transaction) IsDeposit() bool { return tx.Type == DepositTxType }

// ValueWei is the value transferred by tx, never nil.
func (tx *Transaction) ValueWei() *big.Int {
	if tx.Value == nil {
		return new(big.Int)
	}
	return tx.Value.ToInt()
}

type receiptNoMethods Receipt

// UnmarshalJSON decodes a receipt and fails if its status, transaction hash, block
// hash or block number is missing. A null leaves r unchanged.
func (r *Receipt) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	var w struct {
		receiptNoMethods
		Status          *hexutil.Uint64 `json:"status"`
		TransactionHash *common.Hash    `json:"transactionHash"`
		BlockHash       *common.Hash    `json:"blockHash"`
		BlockNumber     *hexutil.Uint64 `json:"blockNumber"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return decodeErr("receipt", "%v", err)
	}
	switch {
	case w.TransactionHash == nil:
		return decodeErr("receipt", "missing transactionHash")
	case w.Status == nil:
		// Pre-Byzantium receipts carry a state root instead; Base never had them.
		return decodeErr("receipt "+w.TransactionHash.Hex(), "missing status")
	case w.BlockHash == nil:
		return decodeErr("receipt "+w.TransactionHash.Hex(), "missing blockHash")
	case w.BlockNumber == nil:
		return decodeErr("receipt "+w.TransactionHash.Hex(), "missing blockNumber")
	}
	rr := Receipt(w.receiptNoMethods)
	rr.Status, rr.TransactionHash, rr.BlockHash, rr.BlockNumber = *w.Status, *w.TransactionHash, *w.BlockHash, *w.BlockNumber
	*r = rr
	return nil
}

// Succeeded reports whether the transaction succeeded (status 1).
func (r *Receipt) Succeeded() bool { return r.Status == 1 }
