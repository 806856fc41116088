// Package feeds holds the option quote model and the sources that stream quotes in time order:
// vendor and native files (CSV, Parquet, a Delta table) read through DuckDB into Arrow batches,
// and the synthetic chain generator (Black-Scholes on a seeded intraday path anchored to real
// daily bars and VIX closes).
//
// Units (see DESIGN.md, "Time and units"): times are UTC microseconds since the Unix epoch;
// prices are per share in dollars; greeks are per share of one contract as vendors publish them:
// delta in [-1, 1], gamma per $1 of underlying, vega per 1 volatility point (0.01), theta per
// calendar day. IV is annualised as a fraction (0.20 = 20%).
//
// Nothing here reads the wall clock or a global random source: a synthetic source takes its seed
// as an argument and every source is a pure function of its inputs.
//
// All builds need the duckdb_arrow build tag (duckdb-go's Arrow interface exists only under it).
package feeds
