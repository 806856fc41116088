package reports

// FormatMoney is fmtMoney, for the external tests.
var FormatMoney = fmtMoney
