package amt

// FindChallenge exposes findChallenge to the tests of package amt_test.
var FindChallenge = findChallenge
