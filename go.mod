module github.com/gliner-go/gliner

go 1.26.8
