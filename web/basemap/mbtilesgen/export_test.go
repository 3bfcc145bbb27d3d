package mbtilesgen

// TileXY is tileXY for the external tests.
var TileXY = tileXY
