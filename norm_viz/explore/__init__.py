"""The Explorer: its view of one NormResult (explorer: verification, the cell's arithmetic, checks, snippet) and its
figures (figures: cube, paper-style overview, statistics, heatmaps, histogram; plotly only)."""
