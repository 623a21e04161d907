package other

func Do() {}
