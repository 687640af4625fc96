module github.com/owlstack/owl

go 1.26
