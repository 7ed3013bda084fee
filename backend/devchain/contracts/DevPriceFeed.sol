// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title DevPriceFeed
/// @notice The ETH / USD price feed of the AiSpace Credits dev chain. It answers exactly
/// like a Chainlink AggregatorV3 (decimals, description, version, getRoundData,
/// latestRoundData) plus the older AggregatorInterface reads, so the backend reads it with
/// the same eth_call it makes against Chainlink on Base. Only the deployer may post
/// answers; every answer opens a new round stamped with the block's timestamp.
contract DevPriceFeed {
    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
    }

    uint8 public constant decimals = 8;
    string public constant description = "ETH / USD";
    uint256 public constant version = 4;

    address public immutable owner;
    uint80 public latestRound;
    mapping(uint80 => Round) private rounds;

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

    constructor() {
        owner = msg.sender;
    }

    /// @notice Posts a new answer (8 decimals) as a new round. Owner only.
    function updateAnswer(int256 answer) external {
        require(msg.sender == owner, "only owner");
        uint80 roundId = latestRound + 1;
        latestRound = roundId;
        rounds[roundId] = Round(answer, block.timestamp, block.timestamp);
        emit NewRound(roundId, msg.sender, block.timestamp);
        emit AnswerUpdated(answer, roundId, block.timestamp);
    }

    function getRoundData(uint80 roundId)
        public
        view
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Round memory r = rounds[roundId];
        require(r.updatedAt > 0, "No data present");
        return (roundId, r.answer, r.startedAt, r.updatedAt, roundId);
    }

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return getRoundData(latestRound);
    }

    function latestAnswer() external view returns (int256) {
        return rounds[latestRound].answer;
    }

    function latestTimestamp() external view returns (uint256) {
        return rounds[latestRound].updatedAt;
    }
}
