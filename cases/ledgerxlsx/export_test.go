package ledgerxlsx

// TextLines is textLines, for the tests of the row-height estimate.
var TextLines = textLines
